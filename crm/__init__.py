"""The dealer CRM: one Django app per module, all in the dealer group's schema."""
