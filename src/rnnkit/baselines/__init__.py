"""The baselines a practitioner runs beside a recurrent model, on the same split.

- :mod:`~rnnkit.baselines.ngram`: interpolated Kneser-Ney n-gram language model (``rnnkit lm``).
- :mod:`~rnnkit.baselines.bag_of_words`: TF-IDF + logistic regression (``rnnkit classify``).

Time series baselines come from statsforecast: :mod:`rnnkit.forecasting.statistical`.
"""
