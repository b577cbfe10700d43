"""Plans, sign-up and Stripe billing. The only package that talks to Stripe."""
