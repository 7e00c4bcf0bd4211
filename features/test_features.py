"""Binds every .feature file in this directory to pytest; the steps live in `conformance`."""

from pytest_bdd import scenarios

scenarios(".")
