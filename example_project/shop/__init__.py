"""Project package of the example shop: settings, URLs, seeding and the page list."""
