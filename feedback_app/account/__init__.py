"""A staff member's own account: changing their password."""
