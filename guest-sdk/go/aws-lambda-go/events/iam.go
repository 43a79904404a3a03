package events

// IAMPolicyDocument is an IAM policy, as an API Gateway authorizer returns
// it. Its JSON keys are the field names, as IAM spells them.
type IAMPolicyDocument struct {
	Version   string
	Statement []IAMPolicyStatement
}

// IAMPolicyStatement is one statement of an IAM policy: an effect ("Allow" or
// "Deny") applied to actions on resources.
type IAMPolicyStatement struct {
	Action   []string
	Effect   string
	Resource []string
}
