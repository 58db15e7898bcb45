"""Feature modules; each exports `handlers()` and the commands it adds to the menus."""
