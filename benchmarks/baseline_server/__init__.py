"""The naive Flask + scikit-learn server the serving benchmark compares against."""
