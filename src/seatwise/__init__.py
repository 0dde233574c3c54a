"""Seatwise: a billing engine for per-seat SaaS plans and prepaid credits."""
