"""Test kits, outside the production packages; make lint keeps production code from them."""
