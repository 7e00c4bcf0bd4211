@beyond-the-page
Feature: A verified key's metadata, used by the policies after authentication
  Spec section 13: once a key is verified, its metadata fields are the CEL variable
  `apiKey` (no `metadata.` level; `apiKey.key` reads redacted) for `traffic.authorization`,
  `traffic.rateLimit` and `traffic.transformation`, which run after API key authentication:
  a request without a valid key is refused with a 401 before any rule sees it, a key a rule
  refuses gets a 403, a key whose limit is spent gets a 429, and without a verified key
  `apiKey` is absent, so a rule on it fails closed.

  Background:
    Given an agentgateway proxy is set up
    And the httpbin sample app is installed
    And I create a Secret with keys whose metadata has strings, numbers, booleans and a nested object
      """
      apiVersion: v1
      kind: Secret
      metadata:
        name: team-keys
        namespace: agentgateway-system
      stringData:
        sales: '{"key": "sales-key-7f3a", "metadata": {"group": "sales", "user": "alice", "tier": 3, "admin": false, "org": {"team": "east", "level": 2}}}'
        support: '{"key": "support-key-2b9c", "metadata": {"group": "support", "user": "bob", "tier": 1, "admin": true, "org": {"team": "east", "level": 1}}}'
        plain: plain-key-5d1e
      """

  @APIKEY-EXT-110 @KeyMetadata @Authorization
  Scenario: An Allow rule on the key's group: 403 for a key it refuses, 200 for one it allows, 401 before it
    Given I apply a Strict policy with an authorization rule that allows the sales group only
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
          apiKeyAuthentication:
            mode: Strict
            secretRef:
              name: team-keys
          authorization:
            action: Allow
            policy:
              matchExpressions:
                - apiKey.group == 'sales'
      """
    When I send a request to the httpbin app with the key "support-key-2b9c" in the Authorization header
    Then the request fails with a 403 HTTP response code
    And the response body is "authorization failed"
    And the response has the header "content-type: text/plain"
    When I send a request to the httpbin app with the key "plain-key-5d1e" in the Authorization header
    Then the request fails with a 403 HTTP response code
    When I send a request to the httpbin app without an API key
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with the key "not-a-team-key" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "sales-key-7f3a" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-111 @KeyMetadata @Authorization
  Scenario: Require rules must all hold: a number compared and a nested field read
    Given I apply a Strict policy with two authorization rules every key must meet
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: senior-east
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
          authorization:
            action: Require
            policy:
              matchExpressions:
                - apiKey.tier > 2
                - apiKey.org.team == 'east'
      """
    When I send a request to the httpbin app with the key "support-key-2b9c" in the Authorization header
    Then the request fails with a 403 HTTP response code
    And the response body is "authorization failed"
    When I send a request to the httpbin app with the key "sales-key-7f3a" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-112 @KeyMetadata @Authorization
  Scenario: A Deny rule on a boolean refuses the keys it matches, and a key without the field is not denied
    Given I apply a Strict policy with an authorization rule that denies admin keys
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: no-admins
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
          authorization:
            action: Deny
            policy:
              matchExpressions:
                - apiKey.admin
      """
    When I send a request to the httpbin app with the key "support-key-2b9c" in the Authorization header
    Then the request fails with a 403 HTTP response code
    When I send a request to the httpbin app with the key "sales-key-7f3a" in the Authorization header
    Then the request is forwarded without the credential
    # The plain key has no metadata: `apiKey.admin` fails to evaluate, and a failed Deny denies nothing.
    When I send a request to the httpbin app with the key "plain-key-5d1e" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-113 @KeyMetadata @Transformation
  Scenario: A header set from apiKey.user reaches the backend, and a client cannot send it itself
    Given I apply an Optional policy that sets the authenticated user as a request header
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: user-header
        namespace: agentgateway-system
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: Gateway
            name: agentgateway-proxy
        traffic:
          apiKeyAuthentication:
            mode: Optional
            secretRef:
              name: team-keys
          transformation:
            request:
              set:
                - name: x-authenticated-user
                  value: apiKey.user
                - name: x-team
                  value: apiKey.org.team
                - name: x-key-seen
                  value: apiKey.key
      """
    When I send a request to the httpbin app with the key "not-a-team-key" in the Authorization header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "sales-key-7f3a" in the Authorization header
    Then the request is forwarded without the credential
    And httpbin sees the header "X-Authenticated-User" with the value "alice"
    And httpbin sees the header "X-Team" with the value "east"
    When I send a request to the httpbin app with the headers "Authorization: Bearer support-key-2b9c" and "X-Authenticated-User: mallory"
    Then the request succeeds
    And httpbin sees the header "X-Authenticated-User" with the value "bob"
    # No key, so no apiKey: each expression fails and its header is removed, the client's own value too.
    When I send a request to the httpbin app with the header "X-Authenticated-User: mallory"
    Then the request succeeds
    And httpbin does not see the header "X-Authenticated-User"
    And httpbin does not see the header "X-Key-Seen"

  @APIKEY-EXT-114 @KeyMetadata @Transformation
  Scenario: apiKey.key reads redacted, never as the key
    Given I apply a Strict policy that copies apiKey.key into a request header
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: key-header
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
          transformation:
            request:
              set:
                - name: x-key-seen
                  value: apiKey.key
      """
    When I send a request to the httpbin app without an API key
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with the key "sales-key-7f3a" in the Authorization header
    Then the request is forwarded without the credential
    And httpbin sees the header "X-Key-Seen" with the value "<redacted>"
    And nothing httpbin received mentions "sales-key-7f3a"

  @APIKEY-EXT-115 @KeyMetadata @Authorization @PermissiveMode
  Scenario: Without a verified key apiKey is absent, so an Allow rule on it fails closed
    Given I apply an Optional policy with an authorization rule that allows the sales group only
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
          apiKeyAuthentication:
            mode: Optional
            secretRef:
              name: team-keys
          authorization:
            action: Allow
            policy:
              matchExpressions:
                - apiKey.group == 'sales'
      """
    When I send a request to the httpbin app without an API key
    Then the request fails with a 403 HTTP response code
    And the response body is "authorization failed"
    When I send a request to the httpbin app with the key "sales-key-7f3a" in the Authorization header
    Then the request is forwarded without the credential
    When I apply a Permissive policy with the same rule
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
          apiKeyAuthentication:
            mode: Permissive
            secretRef:
              name: team-keys
          authorization:
            action: Allow
            policy:
              matchExpressions:
                - apiKey.group == 'sales'
      """
    And I send a request to the httpbin app with the key "not-a-team-key" in the Authorization header
    Then the request fails with a 403 HTTP response code
    When I send a request to the httpbin app with the key "sales-key-7f3a" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-116 @KeyMetadata @Authorization
  Scenario: Numbers, booleans and nested objects compare as the product reads them
    Given I apply a Strict policy with an authorization rule on every kind of metadata value
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: typed
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
          authorization:
            action: Allow
            policy:
              matchExpressions:
                - apiKey.tier == 3 && apiKey.org.level == 2.0 && apiKey.admin == false && has(apiKey.org.team)
      """
    When I send a request to the httpbin app with the key "support-key-2b9c" in the Authorization header
    Then the request fails with a 403 HTTP response code
    When I send a request to the httpbin app with the key "sales-key-7f3a" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-117 @KeyMetadata @Authorization @RouteTargets
  Scenario: The rules of a Gateway policy and a route policy apply together
    Given I apply a policy on the Gateway that authenticates keys and denies low tiers, and one on the HTTPRoute that allows the east team only
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: no-low-tiers
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
          authorization:
            action: Deny
            policy:
              matchExpressions:
                - apiKey.tier < 2
      ---
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: east-only
        namespace: httpbin
      spec:
        targetRefs:
          - group: gateway.networking.k8s.io
            kind: HTTPRoute
            name: httpbin
        traffic:
          authorization:
            action: Allow
            policy:
              matchExpressions:
                - apiKey.org.team == 'east'
      """
    # The route's Allow rule does not replace the Gateway's Deny rule: both keys are east, and the low tier is denied.
    When I send a request to the httpbin app with the key "support-key-2b9c" in the Authorization header
    Then the request fails with a 403 HTTP response code
    And the response body is "authorization failed"
    # Nor does the Gateway's rule replace the route's: a key with no metadata is not denied, but it is not allowed either.
    When I send a request to the httpbin app with the key "plain-key-5d1e" in the Authorization header
    Then the request fails with a 403 HTTP response code
    When I send a request to the httpbin app without an API key
    Then the request is refused with "no API Key found"
    When I send a request to the httpbin app with the key "sales-key-7f3a" in the Authorization header
    Then the request is forwarded without the credential

  @APIKEY-EXT-119 @KeyMetadata @RateLimit @KeyLocation
  Scenario: Each key has a limit of its own: alice's fourth request in the hour gets a 429 while bob's still pass
    Given I apply a Strict policy that gives alice and bob 3 requests an hour each, and any other key 1
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: per-user-limits
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
            location:
              header:
                name: X-Api-Key
          rateLimit:
            conditional:
              - condition: apiKey.user == 'alice'
                policy:
                  local:
                    - requests: 3
                      unit: Hours
              - condition: apiKey.user == 'bob'
                policy:
                  local:
                    - requests: 3
                      unit: Hours
              - policy:
                  local:
                    - requests: 1
                      unit: Hours
      """
    # A wrong key is refused before any limit, so it uses none: this waits for the policy to be
    # in force (a policy that reads another place would say no key was found) without spending any.
    When I send a request to the httpbin app with the key "not-a-team-key" in the X-Api-Key header
    Then the request is refused with "invalid credentials"
    When I send a request to the httpbin app with the key "sales-key-7f3a" in the X-Api-Key header
    Then the next 3 requests succeed
    And the next request fails with a 429 HTTP response code
    And the response body is "rate limit exceeded"
    And the response has the header "content-type: text/plain"
    And the response has the header "x-ratelimit-limit: 3"
    And the response has the header "x-ratelimit-remaining: 0"
    When I send a request to the httpbin app with the key "support-key-2b9c" in the X-Api-Key header
    Then the next 3 requests succeed
    And the next request fails with a 429 HTTP response code
    # The plain key has no metadata: neither condition can be evaluated, so the last entry applies.
    When I send a request to the httpbin app with the key "plain-key-5d1e" in the X-Api-Key header
    Then the next request succeeds
    And the next request fails with a 429 HTTP response code
    And the response has the header "x-ratelimit-limit: 1"

  @APIKEY-EXT-120 @KeyMetadata @RateLimit @Authorization @KeyLocation
  Scenario: Requests refused before the limit use none of it: without a key, with a wrong key, or refused by authorization
    Given I apply a Strict policy that denies admin keys and lets 1 request an hour through, with a burst of 1
      """
      apiVersion: agentgateway.dev/v1alpha1
      kind: AgentgatewayPolicy
      metadata:
        name: one-an-hour
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
            location:
              header:
                name: X-Api-Key
          authorization:
            action: Deny
            policy:
              matchExpressions:
                - apiKey.admin
          rateLimit:
            local:
              - requests: 1
                unit: Hours
                burst: 1
      """
    When I send a request to the httpbin app with the key "not-a-team-key" in the X-Api-Key header
    Then the request is refused with "invalid credentials"
    And the next 3 requests fail with a 401 HTTP response code
    When I send a request to the httpbin app with no key in the X-Api-Key header
    Then the next 3 requests fail with a 401 HTTP response code
    When I send a request to the httpbin app with the key "support-key-2b9c" in the X-Api-Key header
    Then the next 3 requests fail with a 403 HTTP response code
    # One bucket for the whole policy, whichever key asks: its 1 request and its burst of 1, then no more.
    When I send a request to the httpbin app with the key "sales-key-7f3a" in the X-Api-Key header
    Then the next request succeeds
    When I send a request to the httpbin app with the key "plain-key-5d1e" in the X-Api-Key header
    Then the next request succeeds
    And the next request fails with a 429 HTTP response code
    And the response has the header "x-ratelimit-limit: 2"
