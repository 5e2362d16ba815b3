"""The builder's forms, by page group."""
