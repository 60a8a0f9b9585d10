"""The web pages: sign-in and Platform Status, served by the controlplane outside /api."""
