"""Kivy screens of the kiosk (presentation only). Import :mod:`kiosk.ui.app` lazily: it imports Kivy."""
