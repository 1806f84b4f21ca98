"""Hidden checks (``visibility="after_due_date"``): other inputs and extra cases; never shipped to students."""
