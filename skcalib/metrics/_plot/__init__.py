"""Displays (scikit-learn visualization API); matplotlib is imported lazily."""
