"""The SMS channel: gateways (Twilio, a generic HTTP one, the console), delivery reports, survey invitations,
replies, opt-outs and complaints by SMS. Everything above the gateway is the same whichever one is configured."""
