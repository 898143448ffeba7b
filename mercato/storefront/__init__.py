"""The storefront head: shareable product and cart links and the mobile checkout page."""
