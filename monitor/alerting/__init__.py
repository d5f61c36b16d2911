"""Alerting: who is subscribed to what (`subscriptions`), the Chinese messages (`messages`,
templates in `alerts.yaml`) and delivery through Apprise from the persistent outbox (`alerts`).

Enters: subscriptions YAML and matched stories from the database. Leaves: messages sent to
e-mail, webhooks and chat channels, and the outbox rows that record each delivery.
"""
