enum _JobQueuePlaceholder {}
