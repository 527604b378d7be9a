"""The upstream index: the client that talks to it, its page parsers, and mirrored
projects kept fresh from it."""
