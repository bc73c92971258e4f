// Operating the pipeline in Azure Monitor: a workbook with the operations view over Application Insights
// (modules/operations-workbook.json), log alert rules on the spans and gauges the app sends
// (shared/telemetry/), and, when an e-mail is given, an action group the alerts notify.

param applicationInsightsName string
param location string
param tags object = {}

@description('Where alerts are e-mailed; empty: the rules fire in the portal only (no action group).')
param alertEmail string = ''

@description('Alert when more than this share (percent) of the jobs ended in the last hour failed or were quarantined.')
@minValue(1)
@maxValue(100)
param failedSharePercent int = 20

@description('Alert when the oldest queued job has waited longer than this (minutes).')
@minValue(5)
param backlogMinutes int = 30

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name must be a GUID; this one is stable per component.
  name: guid(appInsights.id, 'imagegen-operations')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Image pipeline: operations'
    category: 'workbook'
    sourceId: appInsights.id
    version: 'Notebook/1.0'
    serializedData: string(union(loadJsonContent('operations-workbook.json'), { fallbackResourceIds: [appInsights.id] }))
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${applicationInsightsName}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'imagegen'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// The job span (name 'job') carries the outcome; the sweep records the gauges ('imagegen.operations') each run.
var jobs = 'union requests, dependencies | where name == \'job\' | extend outcome = tostring(customDimensions[\'imagegen.outcome\'])'
var gauge = 'customMetrics | where name == \'imagegen.operations\' | extend figure = tostring(customDimensions[\'figure\'])'

var rules = [
  {
    name: 'failed-or-quarantined'
    displayName: 'Failed or quarantined jobs over ${failedSharePercent}%'
    severity: 2
    window: 'PT1H'
    query: '${jobs} | summarize total = count(), bad = countif(outcome in (\'failed\', \'quarantined\')) | where total >= 5 and 100.0 * bad / total > ${failedSharePercent}'
  }
  {
    name: 'dead-letters'
    displayName: 'Dead letters present'
    severity: 2
    window: 'PT15M'
    query: '${gauge} | where figure == \'dead_letters\' | summarize value = max(value) | where value > 0'
  }
  {
    name: 'backlog-age'
    displayName: 'Oldest queued job older than ${backlogMinutes} minutes'
    severity: 2
    window: 'PT15M'
    query: '${gauge} | where figure == \'oldest_queued_seconds\' | summarize value = max(value) | where value > ${backlogMinutes * 60}'
  }
  {
    name: 'breaker-open'
    displayName: 'A model deployment\'s breaker is open'
    severity: 1
    window: 'PT15M'
    query: '${gauge} | where figure == \'breaker_open\' | summarize value = max(value) by deployment = tostring(customDimensions[\'deployment\']) | where value > 0'
  }
  {
    // A few are owed for moments as jobs end; owed all through half an hour means the topic is not taking them.
    name: 'outcome-events-owed'
    displayName: 'Outcome events owed for 30 minutes'
    severity: 3
    window: 'PT30M'
    query: '${gauge} | where figure == \'owed_outcome_events\' | summarize value = min(value), samples = count() | where samples >= 10 and value > 0'
  }
]

resource alerts 'Microsoft.Insights/scheduledQueryRules@2026-03-01' = [
  for rule in rules: {
    name: '${applicationInsightsName}-${rule.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      severity: rule.severity
      enabled: true
      scopes: [appInsights.id]
      evaluationFrequency: 'PT5M'
      windowSize: rule.window
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: {
        actionGroups: empty(alertEmail) ? [] : [actionGroup.id]
      }
    }
  }
]

output workbookId string = workbook.id
output alertRuleNames array = [for (rule, i) in rules: alerts[i].name]
