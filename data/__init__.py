"""Sample data the bot ships with (the FAQ that seeds an empty database); installed as `bot.data`."""
