"""FAQ canned replies (matching, the FAQ file) and hand-off of customers to the shop team."""
