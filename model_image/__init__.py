"""Model image: the iris model server, its training code and the committed model artifact."""
