"""Documents a customer keeps: invoices and receipts as PDF (SPEC 6), typeset by Typst from the
data of the store, byte-identical for the same invoice in the same state."""

from seatwise.documents.pdf import invoice_pdf, receipt_pdf, render_invoice

__all__ = ["invoice_pdf", "receipt_pdf", "render_invoice"]
