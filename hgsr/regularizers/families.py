"""Imports every family module so that their ``@register`` decorators run."""
