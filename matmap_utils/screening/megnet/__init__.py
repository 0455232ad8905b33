"""matmap_utils.screening.megnet."""
