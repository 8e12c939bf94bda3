from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect

from .models import Dispute


@login_required
def dispute_detail(request, pk):
    # Placeholder until the dispute page lands: the invoice page shows the dispute.
    dispute = get_object_or_404(Dispute.objects.visible_to(request.user), pk=pk)
    return redirect("invoice_detail", pk=dispute.invoice_id)
