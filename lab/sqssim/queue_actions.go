package sqssim

import (
	"github.com/nodewright/nodewright/lab/awsjson"
)

// Input and output structs use the JSON protocol's member names, QueueUrl included.

type createQueueInput struct {
	QueueName  string
	Attributes map[string]string
}

type queueURLOutput struct {
	QueueUrl string
}

// createQueueAction accepts any attribute name, but only VisibilityTimeout, MessageRetentionPeriod
// and ReceiveMessageWaitTimeSeconds change behaviour.
func (s *Sim) createQueueAction(urlBase string, in createQueueInput) (any, *awsjson.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.createQueue(in.QueueName, in.Attributes); err != nil {
		return nil, err
	}
	return queueURLOutput{QueueUrl: s.queueURL(urlBase, in.QueueName)}, nil
}

type getQueueURLInput struct {
	QueueName              string
	QueueOwnerAWSAccountId string
}

func (s *Sim) getQueueURL(urlBase string, in getQueueURLInput) (any, *awsjson.Error) {
	if in.QueueName == "" {
		return nil, missingParameter("QueueName")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.queues[in.QueueName]; !ok || (in.QueueOwnerAWSAccountId != "" && in.QueueOwnerAWSAccountId != s.accountID) {
		return nil, queueDoesNotExist()
	}
	return queueURLOutput{QueueUrl: s.queueURL(urlBase, in.QueueName)}, nil
}

type queueInput struct {
	QueueUrl string
}

// purgeQueue deletes every message, in flight or not, at once; real SQS takes up to a minute.
func (s *Sim) purgeQueue(in queueInput) (any, *awsjson.Error) {
	return s.withQueue(in.QueueUrl, func(q *queue) (any, *awsjson.Error) {
		q.messages = nil
		return struct{}{}, nil
	})
}
