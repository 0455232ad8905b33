"""matmap_utils.book."""
