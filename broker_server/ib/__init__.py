"""ib layer (see DESIGN.md)."""
