"""All models, imported here so Alembic and the app see one metadata."""

from .api_key import ApiKey
from .audit import AuditEvent
from .calendar import CalendarException, OfficeHours
from .complaint import AnswerTemplate, Attachment, Complaint, ComplaintEvent, DeadlinePolicy, HotlineCall
from .dossier import ApologySlip, Dossier
from .login_throttle import LoginThrottle
from .messaging import Notification, OutboxMessage, PeriodicJobState
from .org import Counter, Field, KioskDevice, Officer, OrgEvent, OrgUnit, Service, officer_counters
from .sms import AgencySmsSettings, InboundSms, SmsOptOut, SurveyInvitation
from .staff_session import StaffSession
from .survey import (
    Answer,
    Campaign,
    Factor,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    QuestionOption,
    RefusedSubmission,
    Response,
    ScaleLevel,
    Target,
    campaign_units,
)
from .user import User

__all__ = [
    "AnswerTemplate", "Attachment", "Complaint", "ComplaintEvent", "DeadlinePolicy", "HotlineCall",
    "Answer", "AuditEvent", "Campaign", "Counter", "Factor", "Field", "KioskDevice", "LoginThrottle", "Officer",
    "OrgEvent", "OrgUnit", "Question", "QuestionOption", "Questionnaire", "QuestionnaireVersion", "RefusedSubmission",
    "Response", "ScaleLevel", "Service", "StaffSession", "Target", "User", "campaign_units", "officer_counters",
    "CalendarException", "OfficeHours", "ApiKey",
    "Notification", "OutboxMessage", "PeriodicJobState",
    "ApologySlip", "Dossier", "AgencySmsSettings", "InboundSms", "SmsOptOut", "SurveyInvitation",
]
