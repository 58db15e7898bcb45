"""Referral programme: invitation links, attribution on /start, rewards once the first purchase is kept."""
