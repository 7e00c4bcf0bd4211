@beyond-the-page
Feature: Policy status
  Spec section 7: the policy reports, per Gateway, whether it was accepted and attached,
  names its broken entries or missing Secret without ever showing a key, and says when
  its target does not exist.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I generated the API key "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"

  @APIKEY-EXT-040 @PolicyStatus
  Scenario: A policy with only good keys is Valid and Attached
    Given the "apikey-secret" manifest is applied
    And the "apikey-auth-strict" manifest is applied
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    And the policy "apikey-auth" in namespace "agentgateway-system" reports Accepted=True with reason Valid for the Gateway "agentgateway-proxy"
    And the policy "apikey-auth" in namespace "agentgateway-system" reports Attached=True with reason Attached for the Gateway "agentgateway-proxy"

  @APIKEY-EXT-041 @PolicyStatus @HashedKeys
  Scenario: Broken entries make the policy PartiallyValid, named but never shown
    Given I create a Secret with one good entry and one broken one
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: mixed
        namespace: agentgateway-system
      stringData:
        good: good-key-9f8e
        broken: '{"key": "half-a-secret-6c7d", "metadata": 42}'
      """
    And I apply a Strict policy that reads it
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: mixed
      """
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    And the policy "apikey-auth" in namespace "agentgateway-system" reports Accepted=True with reason PartiallyValid and a message containing "secret mixed contains invalid key broken" for the Gateway "agentgateway-proxy"
    And no status message contains a key from the scenario's Secrets
    When I send a request to the httpbin app with the key "good-key-9f8e" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-042 @PolicyStatus @FailClosed
  Scenario: A missing Secret is reported, and the policy stays in force
    Given I apply a Strict policy that references a Secret nobody created
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: nope
      """
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    And the policy "apikey-auth" in namespace "agentgateway-system" reports Accepted=True with reason PartiallyValid and a message containing "secret agentgateway-system/nope not found" for the Gateway "agentgateway-proxy"

  @APIKEY-EXT-043 @PolicyStatus
  Scenario: A policy whose target does not exist is Pending, and protects nothing
    Given the "apikey-secret" manifest is applied
    And the "apikey-auth-strict" manifest is applied
    And I apply a Strict policy aimed at a Gateway that does not exist
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-nowhere
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: no-such-gateway
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: apikey
      """
    When I send a request to the httpbin app without an API key
    Then the request fails with a 401 HTTP response code
    # The controller reports targets it cannot resolve on one summary ancestor, not on a
    # Gateway that does not exist (v1.4.1, controller/pkg/agentgateway/plugins/traffic_plugin.go).
    And the policy "apikey-nowhere" in namespace "agentgateway-system" reports Attached=False with reason Pending and a message containing "Gateway agentgateway-system/no-such-gateway not found"
    When I delete the AgentgatewayPolicy "apikey-auth" in namespace "agentgateway-system"
    Then the request succeeds

  @APIKEY-EXT-044 @PolicyStatus
  Scenario: A selector that matches nothing is no problem: the policy is Valid, with zero keys
    Given I apply a Strict policy whose selector matches no Secret
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretSelector:
              matchLabels:
                app: nothing-has-this-label
      """
    When I send a request to the httpbin app with no key in the Authorization header
    Then the request is refused with "no API Key found"
    And the policy "apikey-auth" in namespace "agentgateway-system" reports Accepted=True with reason Valid for the Gateway "agentgateway-proxy"

  @APIKEY-EXT-045 @PolicyStatus @RouteTargets
  Scenario: A policy on an HTTPRoute reports on the Gateway the route is attached to
    Given I create an HTTPRoute and a Secret for its policy
      """
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata:
        name: reported
        namespace: httpbin
      spec:
        parentRefs:
          - name: agentgateway-proxy
            namespace: agentgateway-system
        hostnames:
          - reported.example.com
        rules:
          - backendRefs:
              - name: httpbin
                port: 8000
      ---
      apiVersion: v1
      kind: Secret
      metadata:
        name: reported-key
        namespace: httpbin
      stringData:
        api-key: reported-key-7c8d
      """
    And I apply a Strict policy on the HTTPRoute
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: reported-auth
        namespace: httpbin
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            name: reported
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: reported-key
      """
    When I send a request to "reported.example.com/headers" without an API key
    Then the request is refused with "no API Key found"
    And the policy "reported-auth" in namespace "httpbin" reports Accepted=True with reason Valid for the Gateway "agentgateway-proxy"
    And the policy "reported-auth" in namespace "httpbin" reports Attached=True with reason Attached for the Gateway "agentgateway-proxy"

  @APIKEY-EXT-118 @PolicyStatus @KeyMetadata @Authorization @Transformation
  Scenario: A policy that only authorizes, or only transforms, reports its status like an API key policy
    Given I create a Secret with a key whose metadata names its group and user
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: team-keys
        namespace: agentgateway-system
      stringData:
        sales: '{"key": "sales-key-7f3a", "metadata": {"group": "sales", "user": "alice"}}'
        support: '{"key": "support-key-2b9c", "metadata": {"group": "support", "user": "bob"}}'
      """
    And I apply a Strict policy on the Gateway that reads it
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: apikey-auth
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: team-keys
      """
    And I apply a policy on the Gateway with only an authorization rule, and one on the HTTPRoute with only a transformation
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: sales-only
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          authorization:
            action: Allow
            policy:
              matchExpressions:
                - apiKey.group == 'sales'
      ---
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: user-header
        namespace: httpbin
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            name: httpbin
        traffic:
          transformation:
            request:
              set:
                - name: x-authenticated-user
                  value: apiKey.user
      """
    When I send a request to the httpbin app with the key "support-key-2b9c" in the Authorization header
    Then the request fails with a 403 HTTP response code
    When I send a request to the httpbin app with the key "sales-key-7f3a" in the Authorization header
    Then the request is forwarded without the credential
    And httpbin sees the header "X-Authenticated-User" with the value "alice"
    And the policy "sales-only" in namespace "agentgateway-system" reports Accepted=True with reason Valid for the Gateway "agentgateway-proxy"
    And the policy "sales-only" in namespace "agentgateway-system" reports Attached=True with reason Attached for the Gateway "agentgateway-proxy"
    And the policy "user-header" in namespace "httpbin" reports Accepted=True with reason Valid for the Gateway "agentgateway-proxy"
    And the policy "user-header" in namespace "httpbin" reports Attached=True with reason Attached for the Gateway "agentgateway-proxy"
