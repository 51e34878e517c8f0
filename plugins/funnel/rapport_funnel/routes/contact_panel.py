async def deals_panel(contact, request):
    return []


async def new_deal_action(contact, request):
    return []
