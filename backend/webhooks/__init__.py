"""Webhook delivery: signing, sending through the URL checks, and the delivery loop."""
