"""matmap_utils.transport."""
