"""Project › Items: the lead's item browser (filters, search, bulk edit, an item's labels, the raters)."""
