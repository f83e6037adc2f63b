"""The built-in demo of ``skcalib report``: an overconfident model on digits."""

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.naive_bayes import GaussianNB

__all__ = ["DEMO_DESCRIPTION", "demo_scores"]

DEMO_DESCRIPTION = (
    "demo: Gaussian naive Bayes trained on the digits 0-7 of scikit-learn's "
    "digits data set, scored on held-out digits 0-7; OOD samples are the "
    "digits 8 and 9, which it never saw"
)


def demo_scores(random_state=0):
    """Logits of a held-out set, its labels, and logits of OOD samples.

    A Gaussian naive Bayes classifier (overconfident: its features are far
    from independent) is trained
    on 40% of the images of the digits 0 to 7 of
    :func:`sklearn.datasets.load_digits`; its joint log-likelihoods (logits up
    to a constant per row) on the other 60% are the in-distribution scores,
    and those of all the images of 8 and 9 the OOD scores.

    Parameters
    ----------
    random_state : int, default=0
        Seed of the train/test split.

    Returns
    -------
    logits : ndarray of shape (n_samples, 8)
    y : ndarray of shape (n_samples,)
    ood_logits : ndarray of shape (n_ood, 8)

    Examples
    --------
    >>> from skcalib.report import demo_scores
    >>> logits, y, ood_logits = demo_scores()
    >>> logits.shape, ood_logits.shape
    ((866, 8), (354, 8))
    """
    X, y = load_digits(return_X_y=True)
    known = y < 8
    X_train, X_test, y_train, y_test = train_test_split(
        X[known],
        y[known],
        test_size=0.6,
        random_state=random_state,
        stratify=y[known],
    )
    model = GaussianNB(var_smoothing=0.1).fit(X_train, y_train)
    return (
        model.predict_joint_log_proba(X_test),
        y_test,
        model.predict_joint_log_proba(X[~known]),
    )
