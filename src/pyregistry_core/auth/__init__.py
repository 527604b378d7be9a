"""Who is calling: passwords, htpasswd files, API tokens and the authenticator."""
