"""matmap_utils.data."""
