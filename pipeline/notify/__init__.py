"""Notifications: routes (who hears what), news (what a message says), delivery (apprise), the
notifier (a listener of the run's events and a tick that keeps, digests and sends)."""

from pipeline.notify.delivery import AppriseDelivery, Sent
from pipeline.notify.notifier import Notifier, NotifierLoop, notifier_for
from pipeline.notify.routes import EVERYONE, URLS_ENV, NotifyPlan, Route, notify_plan

__all__ = [
    "EVERYONE",
    "URLS_ENV",
    "AppriseDelivery",
    "Notifier",
    "NotifierLoop",
    "NotifyPlan",
    "Route",
    "Sent",
    "notifier_for",
    "notify_plan",
]
