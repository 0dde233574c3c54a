"""The billing page: what a customer's billing admin sees and does (SPEC 10), served by
``seatwise serve`` at ``/billing`` (:func:`seatwise.web.app.create_web_app`)."""
