"""What-if analysis: one history billed under several plans (``compare``), a book re-billed
under a new plan (``backtest``), and the reports of both, with charts."""
