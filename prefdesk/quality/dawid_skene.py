"""Dawid-Skene (1979) by EM over integer arrays: crowd-kit's algorithm, step for step, in numpy.

crowd-kit's `DawidSkene` is the reference (the tests hold this to its posteriors, priors and error
matrices on the simulated team); it runs on pandas group-bys, which take most of a minute on three
million labels. This runs the same steps with `bincount`: initialised by the majority vote's shares, an
M-step of error matrices (clipped at EPS, normalised per true class), an E-step in log2, stopping when the
evidence lower bound per label gains less than `tol`. Classes are the verdicts present in the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPS = np.finfo(float).eps  # crowd-kit's _EPS


@dataclass
class Fit:
    classes: np.ndarray  # the verdict codes present, ascending
    probas: np.ndarray  # task x class posterior (tasks: the task codes given, 0..n_tasks-1)
    priors: np.ndarray  # class
    errors: np.ndarray  # worker x observed class x true class
    iterations: int

    def accuracy(self) -> np.ndarray:
        """Each worker's accuracy: the diagonal of their error matrix weighted by the class priors."""
        return np.einsum("wkk,k->w", self.errors, self.priors)


def dawid_skene(task: np.ndarray, worker: np.ndarray, label: np.ndarray, n_tasks: int, n_workers: int,
                n_iter: int = 50, tol: float = 1e-5) -> Fit:
    """Fit on labels given as parallel integer arrays (task and worker codes from 0)."""
    classes, observed = np.unique(label, return_inverse=True)
    k = len(classes)
    votes = np.bincount(task * k + observed, minlength=n_tasks * k).reshape(n_tasks, k).astype(float)
    totals = votes.sum(axis=1, keepdims=True)
    probas = np.divide(votes, totals, out=np.zeros_like(votes), where=totals > 0)
    labelled = totals[:, 0] > 0
    priors = probas[labelled].mean(axis=0)
    cell = worker * k + observed  # (worker, given verdict) of each label
    seen = np.bincount(cell, minlength=n_workers * k).reshape(n_workers, k) > 0
    per_task = totals[:, 0]
    errors, mass = _m_step(cell, task, probas, seen, n_workers, k)
    loss = -np.inf
    iterations = 0
    for iterations in range(1, n_iter + 1):
        probas = _e_step(task, cell, priors, errors, n_tasks, k)
        priors = probas[labelled].mean(axis=0)
        errors, mass = _m_step(cell, task, probas, seen, n_workers, k)
        new_loss = _elbo(mass, errors, probas, priors, per_task, labelled) / len(task)
        if new_loss - loss < tol:
            break
        loss = new_loss
    return Fit(classes, probas, priors, errors, iterations)


def _m_step(cell, task, probas, seen, n_workers: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """errors[w, given, true]: the posterior mass of `true` over the worker's labels that gave `given`,
    normalised over `given`; also the mass itself (worker*k + given, true), which the ELBO reuses."""
    mass = np.stack([np.bincount(cell, weights=probas[task, c], minlength=n_workers * k) for c in range(k)], axis=1)
    errors = mass.reshape(n_workers, k, k).copy()
    errors[seen] = np.maximum(errors[seen], EPS)  # crowd-kit clips the rows it has (labels given)
    sums = errors.sum(axis=1, keepdims=True)
    return np.divide(errors, sums, out=np.zeros_like(errors), where=sums > 0), mass


def _e_step(task, cell, priors, errors, n_tasks: int, k: int) -> np.ndarray:
    with np.errstate(divide="ignore"):
        log_errors = np.log2(errors.reshape(-1, k))[cell]  # label x true class
    log_like = np.stack([np.bincount(task, weights=log_errors[:, c], minlength=n_tasks) for c in range(k)], axis=1)
    log_like += np.log2(np.maximum(priors, EPS))
    log_like -= log_like.max(axis=1, keepdims=True)
    scaled = np.exp2(log_like)
    return scaled / scaled.sum(axis=1, keepdims=True)


def _elbo(mass, errors, probas, priors, per_task, labelled) -> float:
    """E[log p(labels, truth)] + entropy of the posterior, summed over labels as crowd-kit does: the label
    term grouped by (worker, given verdict), whose posterior mass the M-step already summed."""
    k = len(priors)
    seen = mass.sum(axis=1) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        labels_term = np.nansum(mass[seen] * np.log(errors.reshape(-1, k)[seen]))
    prior_term = float((per_task[labelled, None] * probas[labelled]).sum(axis=0) @ np.log(np.maximum(priors, EPS)))
    p = np.maximum(probas[labelled], EPS)
    return float(labels_term + prior_term - (np.log(p) * p).sum())
