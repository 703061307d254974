"""Su Online (苏在线): nightly deliveries of each grassroots unit's own data (see ``routes``)."""
