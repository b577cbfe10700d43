"""The enquiry form on the dealer's own host."""

urlpatterns: list = []
