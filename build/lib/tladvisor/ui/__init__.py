"""Handlers behind the Gradio app: plain functions (testable without a browser), no module-level state."""
