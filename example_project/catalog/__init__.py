"""Products, their categories, tags and customer reviews."""
