"""Loyalty: points rules, purchase intake (commands, CSV, shop webhooks), rewards and member cards."""
