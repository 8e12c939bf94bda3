"""The payer portal, under /portal/. Portal actions (disputes, promises, uploads, payment) add their lines here."""

from django.urls import path

from . import actions_views, sign_in_views, staff_views, stripe_views, views

urlpatterns = [
    path("", views.home, name="portal_home"),
    path("sign-in/", sign_in_views.sign_in, name="portal_sign_in"),
    path("link/<str:token>/", sign_in_views.open_link, name="portal_link"),
    path("sign-out/", sign_in_views.sign_out, name="portal_sign_out"),
    path("invoices/", views.invoice_list, name="portal_invoices"),
    path("invoices/<int:pk>/", views.invoice_detail, name="portal_invoice"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="portal_invoice_pdf"),
    path("credit-notes/", views.credit_note_list, name="portal_credit_notes"),
    path("credit-notes/<int:pk>/", views.credit_note_detail, name="portal_credit_note"),
    path("payments/", views.payment_list, name="portal_payments"),
    path("payments/<int:pk>/", views.payment_detail, name="portal_payment"),
    path("statement/", views.statement, name="portal_statement"),
    # Staff side: the customer page's "Revoke portal access".
    path("staff/customers/<int:pk>/revoke/", staff_views.revoke_access, name="portal_revoke_access"),
    # What the customer does (portal actions).
    path("invoices/<int:invoice_pk>/dispute/", actions_views.dispute_new, name="portal_dispute_new"),
    path("invoices/<int:invoice_pk>/promise/", actions_views.promise, name="portal_promise"),
    path(
        "invoices/<int:invoice_pk>/documents/", actions_views.document_upload, name="portal_document_upload"
    ),
    path("disputes/", actions_views.dispute_list, name="portal_disputes"),
    path("disputes/<int:pk>/", actions_views.dispute_detail, name="portal_dispute_detail"),
    path("disputes/<int:pk>/files/<int:comment_pk>/", actions_views.dispute_file, name="portal_dispute_file"),
    path("messages/", actions_views.messages_page, name="portal_messages"),
    path("pay/", actions_views.pay, name="portal_pay"),
    path("pay/bank-transfer/", actions_views.paid_notice, name="portal_paid_notice"),
    path("pay/done/", actions_views.pay_done, name="portal_pay_done"),
    path("stripe/webhook", stripe_views.stripe_webhook, name="portal_stripe_webhook"),
]
