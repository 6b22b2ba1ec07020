"""The ceilings the server is measured against: a bare read endpoint, driver-level inserts."""
